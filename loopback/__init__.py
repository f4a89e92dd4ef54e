"""Loopback HTTP test server (tests and benchmarks only, not shipped): a stand-in OpenAI-compatible endpoint and team bot service."""
