"""Loopback HTTP test server: a stand-in OpenAI-compatible endpoint and team bot service."""
