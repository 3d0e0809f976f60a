"""Tests of csm_kit.plotting, one module per package module."""
