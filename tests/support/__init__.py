"""Test doubles that imitate real protocols (Convex HTTP API, fake pulumi CLI) and fixture builders."""
