"""Real Jinja2 configured as Hugging Face transformers renders chat templates: the independent
oracle the C++ template tests are checked against (needs python3-jinja2)."""
import datetime
import json

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(Exception):
    """What raise_exception() raises (transformers raises its own TemplateError too)."""


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    # The C++ tests pin strftime_now() to 2026-07-26 12:00 (render_helper.h).
    return datetime.datetime(2026, 7, 26, 12, 0, 0).strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env
