#!/usr/bin/env python3
"""Checks the hand-computed cases in data/jinja_cases.json against real Jinja2 configured as
Hugging Face transformers renders chat templates (an independent oracle for the C++ tests).
Usage: python3 tests/chat_template/verify_cases.py   (needs python3-jinja2)"""
import datetime
import json
import pathlib
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise RuntimeError(message)


def strftime_now(fmt):
    return datetime.datetime(2026, 7, 26, 12, 0, 0).strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

path = pathlib.Path(__file__).parent / "data" / "jinja_cases.json"
failures = 0
for case in json.loads(path.read_text())["cases"]:
    got = env.from_string(case["template"]).render(**case["vars"])
    if got != case["expected"]:
        failures += 1
        print(f"MISMATCH {case['name']}: jinja2 gives {got!r}, file says {case['expected']!r}")
print(f"{failures} mismatches")
sys.exit(1 if failures else 0)
