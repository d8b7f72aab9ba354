"""Activities (活动): enrolment with a waitlist, QR attendance, service hours, certificates."""
