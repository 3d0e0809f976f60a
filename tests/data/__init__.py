"""Tests of csm_kit.data, one module per package module."""
