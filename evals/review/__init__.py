"""Reviewers label samples in a local web page: queues, blind review, agreement, adjudication, export."""
