"""The governance tree (district > street > community > grid > micro-grid) and staff binding."""
