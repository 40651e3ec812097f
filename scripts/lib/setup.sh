# Shared set-up for scripts/run and scripts/test (sourced, not executed).
# Installs what is missing (as root), or stops with the exact command to run; brings up PostgreSQL,
# the virtual environment, the web assets, and the database schema. Re-running reuses what exists.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO_DIR/.venv"
STATE_DIR="${GEO_APP_STATE_DIR:-$REPO_DIR/.local}"
mkdir -p "$STATE_DIR"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# apt packages the project needs: the server and its extensions, the browser for map tests, GDAL for
# the import benchmark's reference, Node.js/npm for the map assets.
pg_major() {
    if ls /usr/lib/postgresql 2>/dev/null | grep -q '^[0-9]'; then
        ls /usr/lib/postgresql | grep '^[0-9]' | sort -n | tail -n 1
    else
        apt-cache policy postgresql 2>/dev/null | sed -n 's/.*Candidate: \([0-9]*\)+.*/\1/p' | head -n 1
    fi
}

missing_apt_packages() {
    local major="$1"; shift
    local wanted=("postgresql" "postgresql-$major-postgis-3" "postgresql-$major-pgrouting" "$@")
    local pkg
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}

ensure_apt_packages() {
    # Extra package names (e.g. chromium for tests) come as arguments. Node.js and npm count as present
    # when the npm command exists (some machines carry them from another repository than Debian's).
    local major missing
    command -v npm >/dev/null 2>&1 || set -- "$@" nodejs npm
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get here: install PostgreSQL with PostGIS 3 and pgRouting, Python 3.11 venv and npm yourself"
        return 0
    fi
    major="$(pg_major)"
    if [ -z "$major" ]; then
        if is_root; then apt-get update -qq; major="$(pg_major)"; fi
        [ -n "$major" ] || major=15
    fi
    missing="$(missing_apt_packages "$major" "$@" | tr '\n' ' ')"
    [ -z "${missing// /}" ] && return 0
    if ! is_root; then
        die "missing system packages. Run as root:
    sudo apt-get update && sudo apt-get install -y $missing
then run this script again."
    fi
    say "installing system packages: $missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

# Without DATABASE_URL we use the local cluster on 127.0.0.1:5432 as user postgres. On a fresh machine
# the distribution's cluster is started, and when it asks for a password we give the postgres role a
# random one, kept in .local/database_url (never committed).
ensure_database_server() {
    if [ -n "${DATABASE_URL:-}" ]; then
        return 0
    fi
    if [ -f "$STATE_DIR/database_url" ]; then
        DATABASE_URL="$(cat "$STATE_DIR/database_url")"
        export DATABASE_URL
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        is_root || die "PostgreSQL is not running on 127.0.0.1:5432. Start it (as root):
    pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql | sort -n | tail -n 1) main start
or set DATABASE_URL to a PostGIS database you can use."
        local version
        version="$(ls /etc/postgresql | sort -n | tail -n 1)"
        say "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    local url="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
    if psql "$(printf '%s' "$url" | sed 's#/[^/]*$#/postgres#')" -Atqc 'SELECT 1' >/dev/null 2>&1; then
        DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/geo_app}"
        export DATABASE_URL
        return 0
    fi
    is_root || die "cannot sign in to PostgreSQL on 127.0.0.1:5432 as postgres. Set DATABASE_URL, e.g.
    export DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:5432/geo_app"
    local password
    password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    say "giving the local postgres role a password (kept in .local/database_url)"
    runuser -u postgres -- psql -q -c "ALTER ROLE postgres PASSWORD '$password'"
    DATABASE_URL="postgresql://postgres:$password@127.0.0.1:5432/geo_app"
    printf '%s\n' "$DATABASE_URL" > "$STATE_DIR/database_url"
    chmod 600 "$STATE_DIR/database_url"
    export DATABASE_URL
}

# The virtual environment: pinned, hash-checked packages from requirements/*.lock (scripts/lock_requirements
# refreshes them), then the project itself; reinstalled only when pyproject.toml or the lock file changes.
ensure_venv() {
    local extras="$1" stamp="$STATE_DIR/venv.stamp" lock want
    if [ "$extras" = "[test]" ]; then lock="$REPO_DIR/requirements/test.lock"; else lock="$REPO_DIR/requirements/base.lock"; fi
    want="$(cat "$REPO_DIR/pyproject.toml" "$lock" | sha256sum | cut -d' ' -f1)-$extras"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" 2>/dev/null || die "cannot create a virtual environment. Run as root:
    sudo apt-get install -y python3-venv"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python packages into .venv (pinned in ${lock#"$REPO_DIR"/})"
        "$VENV/bin/pip" install -q --upgrade pip >/dev/null
        "$VENV/bin/pip" install -q --require-hashes -r "$lock"
        "$VENV/bin/pip" install -q --no-deps -e "$REPO_DIR"
        printf '%s' "$want" > "$stamp"
    fi
    link_debian_mapscript
}

# MapServer's Python binding (WMS/WFS at /ows) comes from Debian (python3-mapscript), built for CPython 3.11
# with the same ABI tag as the venv's. The venv sees only that one package: a directory holding a link to
# it, named in a .pth file, never the whole of Debian's dist-packages.
link_debian_mapscript() {
    local source=/usr/lib/python3/dist-packages/mapscript dir="$VENV/debian-mapscript" site
    [ -d "$source" ] || return 0
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    mkdir -p "$dir"
    ln -sfn "$source" "$dir/mapscript"
    printf '%s\n' "$dir" > "$site/debian_mapscript.pth"
}

# The CSW catalogue (pycsw 2.6) in its own virtual environment, .local/pycsw-venv: it pins libraries older
# than the service's (OWSLib < 0.29, SQLAlchemy 1.x, Shapely 1.x). Pinned, hash-checked packages from
# requirements/pycsw.lock; reinstalled only when that file changes.
ensure_pycsw() {
    local venv="$STATE_DIR/pycsw-venv" stamp="$STATE_DIR/pycsw-venv.stamp" lock="$REPO_DIR/requirements/pycsw.lock"
    local want
    want="$(sha256sum "$lock" | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" 2>/dev/null || die "cannot create a virtual environment. Run as root:
    sudo apt-get install -y python3-venv"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing pycsw into .local/pycsw-venv (pinned in requirements/pycsw.lock)"
        "$venv/bin/pip" install -q --require-hashes -r "$lock"
        printf '%s' "$want" > "$stamp"
    fi
    PYCSW_PYTHON="$venv/bin/python"
    export PYCSW_PYTHON
}

# Leaflet and plugin JS/CSS from the npm registry, served by the app (maps work on a closed network).
ensure_web_assets() {
    "$REPO_DIR/scripts/install_web_assets"
}

# The secret that signs session cookies. Without SECRET_KEY a random one is made on the first start and
# kept in .local/secret_key (mode 0600, never committed), so sessions survive a restart.
ensure_secret_key() {
    if [ -n "${SECRET_KEY:-}" ]; then
        export SECRET_KEY
        return 0
    fi
    local file="$STATE_DIR/secret_key"
    if [ ! -s "$file" ]; then
        (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' > "$file")
        say "created a random SECRET_KEY in .local/secret_key"
    fi
    chmod 600 "$file"
    SECRET_KEY="$(cat "$file")"
    export SECRET_KEY
}

# The ISO 19139 XML schemas the metadata tests validate against, offline: taken from the pycsw wheel on
# PyPI (which packages them with the W3C schemas they import), unpacked into .local/iso19139.
ensure_iso_schemas() {
    local target="$STATE_DIR/iso19139" wheel_dir
    [ -f "$target/pycsw/plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmd/gmd.xsd" ] && return 0
    say "fetching the ISO 19139 schemas (pycsw 2.6.2 wheel) into .local/iso19139"
    wheel_dir="$(mktemp -d)"
    "$VENV/bin/pip" download -q --no-deps --only-binary :all: -d "$wheel_dir" pycsw==2.6.2
    rm -rf "$target" && mkdir -p "$target"
    "$VENV/bin/python" - "$wheel_dir"/pycsw-*.whl "$target" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith(("pycsw/plugins/profiles/apiso/schemas/", "pycsw/core/schemas/")) or name.endswith("LICENSE.txt"):
            wheel.extract(name, sys.argv[2])
PY
    rm -rf "$wheel_dir"
}

ensure_schema() {
    "$VENV/bin/geo-app" migrate
}

# The web app connects as a least-privilege role (rows only; no schema changes, no audit tampering),
# created with a random password kept in .local/web_role_password; WEB_DATABASE_URL is its URL.
ensure_web_role() {
    local file="$STATE_DIR/web_role_password"
    if [ ! -s "$file" ]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file")
    fi
    chmod 600 "$file"
    WEB_DATABASE_URL="$("$VENV/bin/geo-app" web-role --password-file "$file")"
    export WEB_DATABASE_URL
}
