"""Union activities and training courses: publish, sign up with a waiting list, check in by card, completion and certificates."""
