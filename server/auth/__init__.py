"""Accounts, WeChat login, tokens, and the role/org-scope guards."""
