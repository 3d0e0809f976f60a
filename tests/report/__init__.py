"""Tests of csm_kit.report, one module per package module."""
