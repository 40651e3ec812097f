"""Property-based requests from /openapi.json (schemathesis): no answer of the service is a 5xx.

Bounded: a few examples per operation (several hundred requests in all), as an admin, against a twin of
the access-test city (99.08) so random writes never touch the sample city other tests read.
"""

from __future__ import annotations

import pytest
import schemathesis
from access_city import create_city
from hypothesis import HealthCheck, given, settings

from geo_app import create_app
from geo_app.settings import Settings

FUZZ_CITY = "99.08"
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def fuzz_app(database_url, sample_city):
    create_city(database_url, FUZZ_CITY)
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=FUZZ_CITY))
    yield application
    application.extensions["db_pool"].close()


def test_no_request_gets_a_server_error(fuzz_app, tokens):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)
    headers = {"Authorization": f"Bearer {tokens.of(FUZZ_CITY)['admin']}"}
    failures, examples = [], 0

    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case):
            nonlocal examples
            examples += 1
            response = case.call(headers=headers)
            catalogue_not_started = case.path == "/csw" and response.status_code == 503  # pycsw runs apart
            if response.status_code >= 500 and not catalogue_not_started:
                failures.append(
                    f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]} -> "
                    f"{response.status_code} {response.text[:200]}"
                )

        no_server_error()
    print(f"schemathesis: {examples} requests")
    assert examples >= 300
    assert not failures, "\n".join(failures[:20])
