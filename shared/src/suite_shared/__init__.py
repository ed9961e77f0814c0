"""The library every service of the suite imports; it holds no service logic."""
