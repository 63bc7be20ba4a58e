#!/usr/bin/env python3
"""The hostile-template battery (issue 16): templates a downloaded model could carry to hang,
crash or exhaust the process, and the edge cases of Python's semantics around them.

Each case says what tokenfab must do:
  "python": render exactly what real Jinja2 (python3-jinja2, HF configuration) renders;
  an error code ("limit", "runtime", "syntax", "raised"): fail with that template error, and
    "why" says why when Jinja2 itself renders the case (Python's ints are unbounded, its memory
    is not budgeted...).
Jinja2's own result (Debian 12's python3-jinja2 3.1.2: run this with /usr/bin/python3) is recorded next to it, rendered in a child process with a 10 s / 2 GiB
limit ("gave_up" when it ran out of either); an output over 2 KiB is recorded by its SHA-256.

  python3 make_hostile_cases.py          writes data/hostile_cases.json
  python3 make_hostile_cases.py --check  re-renders every recorded Jinja2 output and compares
  python3 make_hostile_cases.py --seeds  writes each case as a seed of the template_fuzz target

A template is a string or a list of [piece, count] pairs, repeated and joined (so the data file
stays small while a case can be 100,000 links long). The C++ side is JinjaHostile.* in
jinja_hostile_test.cpp."""
import json
import pathlib
import resource
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data" / "hostile_cases.json"
INT64_MAX = 2**63 - 1
I64MIN = "(-9223372036854775807 - 1)"  # INT64_MIN as a template expression (no literal for it)
BIG = "9223372036854775807"

PY = "python"
LIMIT, RUNTIME, SYNTAX, RAISED = "limit", "runtime", "syntax", "raised"
BIGINT = "Python's int is unbounded; the sandbox's ints are 64-bit and say so"
VALUE_CAP = "a single value is capped at 32 MiB (max_output_bytes)"
NESTING = "the source nests deeper than 256 levels (parser/evaluator stack bound)"
VALUE_NESTING = "values nest at most 256 lists/dicts deep"
LOOPS = "more than 200,000 loop iterations"
UNSUPPORTED = "a feature the subset does not implement; it says so"

# (name, template, expectation[, why])
CASES = [
    # ---- the cases reported in issue 16 -------------------------------------------------------
    ("reported_empty_string_times_max", "{{ '' * 9223372036854775807 }}", PY),
    ("reported_range_near_int64_max", "{{ range(9223372036854775800, 9223372036854775807, 1000) | length }}", PY),
    ("reported_map_attribute_huge_index", "{{ [[1]] | map(attribute='99999999999999999999') | list }}", PY),
    ("reported_format_huge_field_index", "{{ '{99999999999999999999}'.format(1) }}", RUNTIME),
    ("reported_namespace_holds_itself", "{% set ns=namespace() %}{% set ns.me=ns %}{{ ns == ns }}", PY),
    ("reported_slice_step_int64_max", "{{ 'abc'[1::9223372036854775807] }}", PY),
    # ---- found by reading the code ------------------------------------------------------------
    ("attribute_chain_100000", [["{% set x = {} %}{{ x", 1], [".a", 100000], [" }}", 1]], LIMIT),
    ("plus_chain_100000", [["{{ 1", 1], ["+1", 100000], [" }}", 1]], LIMIT),
    ("filter_chain_20000", [["{{ 'a'", 1], [" | string", 20000], [" }}", 1]], LIMIT),
    ("test_chain_20000", [["{{ 1", 1], [" is number", 20000], [" }}", 1]], LIMIT),
    ("tilde_chain_100000", [["{{ 'a'", 1], [" ~ 'a'", 100000], [" }}", 1]], LIMIT, NESTING),
    ("call_chain_100000", [["{{ x", 1], ["()", 100000], [" }}", 1]], LIMIT),
    ("subscript_chain_100000", [["{{ x", 1], ["[0]", 100000], [" }}", 1]], LIMIT),
    ("parentheses_10000", [["{{ ", 1], ["(", 10000], ["1", 1], [")", 10000], [" }}", 1]], LIMIT),
    ("not_chain_10000", [["{{ ", 1], ["not ", 10000], ["1 }}", 1]], LIMIT),
    ("unary_minus_chain_10000", [["{{ ", 1], ["- ", 10000], ["1 }}", 1]], LIMIT),
    ("conditional_chain_10000", [["{{ 1", 1], [" if 1 else 1", 10000], [" }}", 1]], LIMIT),
    ("list_literal_nested_10000", [["{{ ", 1], ["[", 10000], ["1", 1], ["]", 10000], [" }}", 1]], LIMIT),
    ("if_blocks_nested_1000", [["{% if true %}", 1000], ["x", 1], ["{% endif %}", 1000]], LIMIT),
    ("batch_huge_with_fill", "{{ [1] | batch(1000000000000, 0) | list | length }}", LIMIT),
    ("batch_int64_max_without_fill", "{{ [1, 2] | batch(9223372036854775807) | list }}", PY),
    ("batch_fills_last", "{{ [1, 2, 3] | batch(2, 0) | list }}", PY),
    ("range_200000_unique", "{{ range(200000) | unique | list | length }}", LIMIT),
    ("range_100000_unique", "{{ range(100000) | unique | list | length }}", PY),
    ("format_width_huge", "{{ '{:>1000000000000}'.format('a') }}", LIMIT),
    ("format_width_too_many_digits", "{{ '{:99999999999999999999}'.format(1) }}", RUNTIME),
    ("indent_huge", "{{ 'a\\nb' | indent(1000000000000) }}", LIMIT),
    ("indent_300_not_clamped", "{{ 'a\\nb' | indent(300) | length }}", PY),
    ("tojson_indent_huge", "{{ {'a': [1]} | tojson(indent=1000000000000) }}", LIMIT),
    ("tojson_indent_100_not_clamped", "{{ {'a': [1]} | tojson(indent=100) | length }}", PY),
    ("sum_overflows", "{{ [9223372036854775807, 1] | sum }}", LIMIT, BIGINT),
    ("sum_fits", "{{ [9223372036854775806, 1] | sum }}", PY),
    ("sum_floats_to_inf", "{{ [1e308, 1e308] | sum }}", PY),
    ("power_of_minus_one", "{{ (-1) ** 3 }} {{ (-1) ** 4 }} {{ (-1) ** 9223372036854775807 }}", PY),
    # ---- integer overflow at each operation ---------------------------------------------------
    ("add_overflow", "{{ 9223372036854775807 + 1 }}", LIMIT, BIGINT),
    ("add_max_fits", "{{ 9223372036854775806 + 1 }}", PY),
    ("sub_overflow", "{{ -9223372036854775807 - 2 }}", LIMIT, BIGINT),
    ("sub_to_int64_min", "{{ -9223372036854775807 - 1 }}", PY),
    ("mul_overflow", "{{ 4611686018427387904 * 2 }}", LIMIT, BIGINT),
    ("mul_overflow_square", "{{ 3037000500 * 3037000500 }}", LIMIT, BIGINT),
    ("mul_largest_square", "{{ 3037000499 * 3037000499 }}", PY),
    ("mul_negative_fits", "{{ -4611686018427387904 * 2 }}", PY),
    ("floordiv_min_by_minus_one", "{{ " + I64MIN + " // -1 }}", LIMIT, BIGINT),
    ("mod_min_by_minus_one", "{{ " + I64MIN + " % -1 }}", PY),
    ("floordiv_floors", "{{ 7 // -2 }} {{ -7 // 2 }} {{ -7 // -2 }} {{ " + I64MIN + " // 1 }}", PY),
    ("mod_sign_of_divisor", "{{ -7 % 3 }} {{ 7 % -3 }} {{ " + I64MIN + " % 7 }}", PY),
    ("floordiv_by_zero", "{{ 1 // 0 }}", RUNTIME),
    ("mod_by_zero", "{{ 1 % 0 }}", RUNTIME),
    ("power_overflow", "{{ 2 ** 63 }}", LIMIT, BIGINT),
    ("power_fits", "{{ 2 ** 62 }} {{ (-2) ** 63 }} {{ 3 ** 39 }}", PY),
    ("power_negative_overflow", "{{ (-2) ** 64 }}", LIMIT, BIGINT),
    ("power_huge_exponent_of_one", "{{ 1 ** 9223372036854775807 }} {{ 0 ** 9223372036854775807 }}", PY),
    ("power_huge_exponent_of_two", "{{ 2 ** 9223372036854775807 }}", LIMIT, BIGINT),
    ("power_negative_exponent", "{{ 2 ** -1 }} {{ 2 ** -2 }} {{ (-2) ** -3 }}", PY),
    ("power_zero_to_negative", "{{ 0 ** -1 }}", RUNTIME),
    ("power_float_overflow", "{{ 10.0 ** 400 }}", LIMIT),
    ("power_negative_to_fraction", "{{ (-8) ** 0.5 }}", RUNTIME, "Python gives a complex number; the subset has none"),
    ("unary_minus_int64_min", "{{ -" + I64MIN + " }}", LIMIT, BIGINT),
    ("abs_int64_min", "{{ " + I64MIN + " | abs }}", LIMIT, BIGINT),
    ("abs_fits", "{{ -9223372036854775807 | abs }}", PY),
    ("integer_literal_too_big", "{{ 99999999999999999999 }}", SYNTAX, BIGINT),
    ("divisibleby_min_minus_one", "{{ " + I64MIN + " is divisibleby(-1) }}", PY),
    ("divisibleby_zero", "{{ 5 is divisibleby(0) }}", RUNTIME),
    ("int_float_compare_exactly", "{{ 9007199254740993 == 9007199254740992.0 }} {{ 9007199254740993 > 9007199254740992.0 }}", PY),
    ("float_floordiv_as_python", "{{ 1 // 0.1 }} {{ -7 // 2.0 }} {{ 7.5 % -2 }} {{ -0.0 // 1 }}", PY),
    ("float_mul_to_inf", "{{ 1e308 * 10 }} {{ -1e308 * 10 }}", PY),
    ("float_division_by_zero", "{{ 3 / 0 }}", RUNTIME),
    ("float_mod_by_zero", "{{ 3.0 % 0 }}", RUNTIME),
    ("round_extreme_precision", "{{ 1.5 | round(400) }} {{ 123.456 | round(-400) }} {{ 2.5 | round }}", PY),
    # ---- range lengths ------------------------------------------------------------------------
    ("range_two_huge_steps", "{{ range(0, 9223372036854775807, 4611686018427387904) | list }}", PY),
    ("range_down_huge_steps", "{{ range(9223372036854775807, " + I64MIN + ", -4611686018427387904) | list }}", PY),
    ("range_full_int64", "{{ range(" + I64MIN + ", 9223372036854775807) | length }}", LIMIT),
    ("range_huge", "{% for i in range(1000000000000) %}{% endfor %}", LIMIT),
    ("range_step_zero", "{{ range(1, 2, 0) }}", RUNTIME),
    ("range_backwards_empty", "{{ range(5, 0) | list }} {{ range(5, 0, -2) | list }}", PY),
    # ---- repetition ---------------------------------------------------------------------------
    ("string_times_int64_max", "{{ 'x' * 9223372036854775807 }}", LIMIT),
    ("list_times_huge", "{{ [1, 2] * 4611686018427387904 }}", LIMIT),
    ("empty_list_times_max", "{{ [] * 9223372036854775807 }}", PY),
    ("repetition_negative_and_bool", "[{{ 'ab' * -5 }}][{{ 3 * 'ab' }}][{{ 'ab' * true }}][{{ [1] * 0 }}]", PY),
    ("string_times_just_over_cap", "{{ ('a' * 33554433) | length }}", LIMIT, VALUE_CAP),
    ("string_times_large_ok", "{{ ('ab' * 1000000) | length }}", PY),
    ("doubling_string", "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", LIMIT),
    ("doubling_list", "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", LIMIT),
    # ---- slicing with extreme steps and bounds -------------------------------------------------
    ("slice_step_int64_min", "{{ 'abc'[::" + I64MIN + "] }} {{ [1, 2, 3][::" + I64MIN + "] }}", PY),
    ("slice_bounds_extreme", "{{ 'abc'[" + I64MIN + ":] }}|{{ 'abc'[:" + BIG + "] }}|{{ 'abc'[:" + BIG + ":-1] }}", PY),
    ("slice_reverse_extreme", "{{ [1, 2, 3][" + BIG + ":" + I64MIN + ":-1] }}", PY),
    ("slice_unicode_step", "{{ 'héllo wörld'[::-2] }} {{ 'héllo'[1:4:2] }}", PY),
    ("slice_step_zero", "{{ 'abc'[::0] }}", RUNTIME),
    ("index_extremes", "[{{ 'abc'[" + BIG + "] }}][{{ [1, 2][" + I64MIN + "] }}][{{ 'abc'[" + I64MIN + "] }}]", PY),
    # ---- int() of huge strings ------------------------------------------------------------------
    ("int_of_twenty_nines", "{{ '99999999999999999999' | int }}", LIMIT, BIGINT),
    ("int_of_int64_bounds", "{{ '9223372036854775807' | int }} {{ '-9223372036854775808' | int }}", PY),
    ("int_just_past_int64", "{{ '9223372036854775808' | int }}", LIMIT, BIGINT),
    # Python refuses int() of over 4300 digits, and float() of them is infinity, which int() refuses.
    ("int_of_5000_digits", [["{{ '", 1], ["9", 5000], ["' | int }}", 1]], RUNTIME),
    ("int_of_inf_text", "{{ 'inf' | int }}", RUNTIME),
    ("int_python_syntax", "{{ ' 1_000 ' | int }} {{ '1__0' | int }} {{ '0x1f' | int(0, 16) }} {{ '0b101' | int(base=0) }} {{ '012' | int(7, 0) }}", PY),
    ("int_of_float_text", "{{ '12.7' | int }} {{ '-12.7' | int }} {{ '1e18' | int }} {{ 'nan' | int(5) }}", PY),
    ("int_of_huge_float_text", "{{ '1e30' | int }}", LIMIT, BIGINT),
    ("int_of_huge_float", "{{ 1e300 | int }}", LIMIT, BIGINT),
    ("float_of_texts", "{{ '1_000.5' | float }} {{ ' -2.5e3 ' | float }} {{ '1e999' | float }} {{ 'x' | float }}", PY),
    # ---- format widths and fields --------------------------------------------------------------
    ("format_specs", "{{ '{:>5}|{:<4}|{:^9}|{:*^11}'.format('a', 'b', 'mid', 'x') }}", PY),
    ("format_numbers", "{{ '{:.3f}|{:08.2f}|{:+d}|{: d}|{:05d}|{:F}'.format(3.14159, -3.14159, 5, 7, -42, 1.5) }}", PY),
    ("format_fields", "{{ '{0}{1}{0}|{a}'.format('a', 'b', a='q') }}", PY),
    ("format_repr_conversion", "{{ '{!r}:{!s}'.format('a', 1) }}", PY),
    ("format_missing_index", "{{ '{}{}'.format(1) }}", RUNTIME),
    ("format_mixed_numbering", "{{ '{0}{}'.format(1, 2) }}", RUNTIME),
    ("format_precision_truncates", "{{ '{:.2}'.format('hello') }}", PY),
    ("format_hex_unsupported", "{{ '{:x}'.format(255) }}", RUNTIME, UNSUPPORTED),
    # ---- deep nesting, huge counts, recursion -------------------------------------------------
    ("macro_infinite_recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", LIMIT),
    ("macro_mutual_recursion", "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}", LIMIT),
    ("macro_recursion_60", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(60) | length }}", PY),
    ("macro_recursion_70", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(70) | length }}", LIMIT,
     "macro calls nest at most 64 deep"),
    # 60 macro calls, each nesting 16 lists around the next: over 1,024 levels of evaluation.
    ("eval_depth_across_macros", "{% macro f(n) %}{% if n > 0 %}{{ " + "[" * 16 + "f(n - 1)" + "]" * 16 +
     " | length }}{% endif %}{% endmacro %}{{ f(60) }}", LIMIT, "evaluation nests at most 1,024 deep across macro calls"),
    ("eval_depth_across_macros_ok", "{% macro f(n) %}{% if n > 0 %}{{ " + "[" * 16 + "f(n - 1)" + "]" * 16 +
     " | length }}{% endif %}{% endmacro %}{{ f(20) }}", PY),
    ("nested_loops_10_billion", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", LIMIT),
    ("loop_100000", "{% for i in range(100000) %}{% endfor %}done", PY),
    ("loops_400000", "{% for i in range(100000) %}{% for j in range(4) %}{% endfor %}{% endfor %}ok", LIMIT, LOOPS),
    ("huge_output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", LIMIT, "the output is capped at 32 MiB"),
    ("output_8_mb", "{% for i in range(8000) %}{{ 'x' * 1000 }}{% endfor %}", PY),
    ("list_nested_by_loop_300", "{% set ns = namespace(l=[]) %}{% for i in range(300) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l | length }}",
     LIMIT, VALUE_NESTING),
    ("list_nested_by_loop_200", "{% set ns = namespace(l=[]) %}{% for i in range(200) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l | length }}", PY),
    ("namespace_chain_100000", "{% set ns = namespace(c=none) %}{% for i in range(100000) %}{% set ns.c = namespace(n=ns.c) %}{% endfor %}x",
     LIMIT, VALUE_NESTING),
    ("nested_list_printed_200", "{% set ns = namespace(l=1) %}{% for i in range(200) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l | string | length }}", PY),
    ("tilde_chain_200", [["{{ 'a'", 1], [" ~ 'b'", 199], [" }}", 1]], PY),
    ("parentheses_50", [["{{ ", 1], ["(", 50], ["1", 1], [")", 50], [" }}", 1]], PY),
    # ---- cycles -------------------------------------------------------------------------------
    ("namespace_self_printed", "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", PY),
    ("namespace_two_cycle", "{% set a = namespace() %}{% set b = namespace(o=a) %}{% set a.o = b %}{{ a == b }} {{ a }}", PY),
    ("namespace_in_list_cycle", "{% set ns = namespace() %}{% set ns.l = [ns, [ns]] %}{{ ns.l }}", PY),
    ("namespace_cycle_tojson", "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}", RUNTIME),
    ("namespace_identity", "{{ namespace(a=1) == namespace(a=1) }} {% set n = namespace(a=1) %}{{ [n] == [n] }}", PY),
    ("namespace_cycle_in_loop", "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns] %}{% endfor %}{{ ns.l | length }}", PY),
    # ---- large but legitimate work --------------------------------------------------------------
    ("search_worst_case", "{% set h = 'a' * 1000000 %}{% set n = 'a' * 5000 ~ 'b' %}{{ n in h }} {{ h.find(n) }} {{ h.count(n) }}", PY),
    ("replace_amplified", "{{ ('a' * 1000) | replace('', 'x' * 100000) | length }}", LIMIT, VALUE_CAP),
    ("replace_doubles", "{{ ('a' * 10000).replace('a', 'bb') | length }}", PY),
    ("split_many", "{{ ('a,' * 100000).split(',') | length }}", PY),
    ("join_range", "{{ range(100000) | join(',') | length }}", PY),
    ("sort_100000", "{{ (range(100000) | reverse | sort)[:3] }}", PY),
    ("strip_long_chars", "{{ ('ab' * 100000).strip('ab' * 50000) | length }}", PY),
    ("strip_huge_chars", "{{ ('xy' * 1000000).strip('ab' * 4000000) | length }}", PY),  # found by template_fuzz
    ("name_300_bytes", "{{ " + "n" * 300 + " }}", SYNTAX, "names are at most 256 bytes (each lookup hashes the name)"),
    ("dict_key_copied_in_loop", "{% set d = {'k' * 30000000: 1} %}{% for i in range(1000) %}{% set e = dict(d) %}{% endfor %}x",
     LIMIT, "copying a 30 MB key 1,000 times is 30 GB of work"),
    ("tojson_range", "{{ range(50000) | list | tojson | length }}", PY),
    ("escape_long", "{{ ('<&>' * 100000) | e | length }}", PY),
    ("dict_literal_5000_keys", [["{% set d = {", 1]] + [[f"'k{i}': {i}, ", 1] for i in range(5000)] + [["} %}{{ d | length }} {{ d.k4999 }} {{ d['k17'] }}", 1]], PY),
    ("list_literal_20000", [["{{ [", 1], ["0, ", 20000], ["] | length }}", 1]], PY),
    # ---- Python printing and comparison semantics the sandbox must keep -----------------------------
    ("unique_hashes_like_python", "{{ ['a', 'A', 1, 1.0, true, none] | unique | list }}", PY),
    ("unique_unhashable", "{{ [[1], [1]] | unique | list }}", RUNTIME),
    ("undefined_in_list_repr", "{{ [u] }} {{ [1, u, 'x' | safe] }}", PY),
    ("list_order_first_difference", "{{ [1, 'a'] < [1, 'b'] }} {{ [1, 'a'] < [2, 1] }} {{ [1] < [1, 0] }}", PY),
    ("none_not_orderable", "{{ none < 1 }}", RUNTIME),
    ("raise_exception", "{{ raise_exception('boom') }}", RAISED),
    ("count_empty_and_long", "{{ 'a'.count('') }} {{ ('ab' * 1000).count('ab' * 20) }}", PY),
    ("attribute_index_on_dict", "{{ [{'0': 'x'}] | map(attribute='0') | list }} {{ ['abc'] | map(attribute='1') | list }}", PY),
]

RUNNER = r"""
import hashlib, json, sys
sys.setrecursionlimit(10000)
sys.path.insert(0, sys.argv[1])
from jinja2_env import make_env
case = json.loads(sys.stdin.read())
try:
    out = make_env().from_string(case["template"]).render(
        messages=[], bos_token="", eos_token="", add_generation_prompt=True, tools=None)
    data = out.encode()
    if len(data) <= 2048:
        print(json.dumps({"output": out}))
    else:  # long outputs are recorded by their SHA-256 (the file stays small)
        print(json.dumps({"output_sha256": hashlib.sha256(data).hexdigest(), "output_bytes": len(data),
                          "output_head": out[:60]}))
except BaseException as e:
    print(json.dumps({"error": f"{type(e).__name__}: {str(e)[:200]}"}))
"""


def expand(template):
    if isinstance(template, str):
        return template
    return "".join(piece * count for piece, count in template)


def limit_child():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def jinja2_result(template):
    """Jinja2's rendering in a child process that may use 10 s and 2 GiB."""
    try:
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(HERE)], input=json.dumps({"template": template}),
                              capture_output=True, text=True, timeout=10, preexec_fn=limit_child)
    except subprocess.TimeoutExpired:
        return {"gave_up": "no result within 10 s"}
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"gave_up": f"exit status {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    return json.loads(proc.stdout)


def generate():
    cases, problems = [], []
    for entry in CASES:
        name, template, expect = entry[:3]
        why = entry[3] if len(entry) > 3 else ""
        result = jinja2_result(expand(template))
        rendered = "output" in result or "output_sha256" in result
        if expect == PY and not rendered:
            problems.append(f"{name}: expected Jinja2 to render it, got {result}")
        if expect != PY and rendered and not why:
            problems.append(f"{name}: Jinja2 renders it, so an error needs a reason")
        case = {"name": name, "template": template, "tokenfab": expect}
        if why:
            case["why"] = why
        case["jinja2"] = result
        cases.append(case)
        print(f"{name:40} {expect:8} {json.dumps(result)[:70]}")
    if problems:
        sys.exit("\n".join(problems))
    import jinja2
    out = {"source": f"python3-jinja2 {jinja2.__version__}, generated by make_hostile_cases.py", "cases": cases}
    DATA.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    matched = sum(c["tokenfab"] == PY for c in cases)
    print(f"{len(cases)} cases, {matched} to match Jinja2 byte for byte")


def check():
    """Every recorded Jinja2 output is what Jinja2 renders now."""
    failures = 0
    cases = json.loads(DATA.read_text())["cases"]
    for case in cases:
        if "error" in case["jinja2"] or "gave_up" in case["jinja2"]:
            continue
        got = jinja2_result(expand(case["template"]))
        if got != case["jinja2"]:
            failures += 1
            print(f"MISMATCH {case['name']}: jinja2 gives {json.dumps(got)[:200]}, file says {json.dumps(case['jinja2'])[:200]}")
    recorded = sum("error" not in c["jinja2"] and "gave_up" not in c["jinja2"] for c in cases)
    print(f"{failures} mismatches in {recorded} recorded outputs")
    return failures


def seeds():
    """The battery as libFuzzer seeds: the fuzzer starts from them, and runs each under its own
    -timeout and -rss_limit_mb before mutating."""
    folder = HERE.parents[0] / "fuzz" / "corpus" / "template_fuzz"
    for old in folder.glob("hostile_*.jinja"):
        old.unlink()
    for name, template, *_ in CASES:
        # 16 KiB at most: a chain cut there still passes every nesting limit long before its end.
        (folder / f"hostile_{name}.jinja").write_bytes(expand(template).encode()[:16384])
    print(f"{len(CASES)} seeds in {folder}")


if __name__ == "__main__":
    if "--seeds" in sys.argv:
        sys.exit(seeds())
    if "--check" in sys.argv:
        sys.exit(1 if check() else 0)
    generate()
