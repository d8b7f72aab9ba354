"""Needs and suggestions (问需): submitted by riders and residents, answered by staff."""
