#!/usr/bin/env python3
"""Checks the hand-computed cases in data/jinja_cases.json against real Jinja2 configured as
Hugging Face transformers renders chat templates (an independent oracle for the C++ tests).
Usage: python3 tests/chat_template/verify_cases.py   (needs python3-jinja2)"""
import json
import pathlib
import sys

from jinja2_env import make_env

env = make_env()

path = pathlib.Path(__file__).parent / "data" / "jinja_cases.json"
failures = 0
for case in json.loads(path.read_text())["cases"]:
    got = env.from_string(case["template"]).render(**case["vars"])
    if got != case["expected"]:
        failures += 1
        print(f"MISMATCH {case['name']}: jinja2 gives {got!r}, file says {case['expected']!r}")
print(f"{failures} mismatches")
sys.exit(1 if failures else 0)
