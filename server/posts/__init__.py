"""Governance posts (社区治理岗位) riders claim, and the claims staff decide."""
