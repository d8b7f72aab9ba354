"""Uploads: photos stored behind one storage interface, checked by WeChat, served signed."""
