"""Tests of csm_kit.sample, one module per package module."""
