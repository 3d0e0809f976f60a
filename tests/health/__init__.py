"""Tests of csm_kit.health, one module per package module."""
