"""OGC Web Services (WMS 1.3.0, WFS 2.0) of the city's layers, served by MapServer inside the app."""
