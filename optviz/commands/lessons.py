"""``optviz lessons``: list the lessons; ``--check [NAME …]`` measures their claims and prints pass/fail per lesson.

Exit status 0 only when every claim checked holds, 1 when one does not, 2 for an unknown name.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Iterable, TextIO

from optviz.core.lessons import Claim, Lesson, get_lesson, lessons


def add_parser(sub: Any) -> None:
    p = sub.add_parser("lessons", help="list the lessons; --check measures every lesson's claim",
                       description="The lessons of optimisation and training the app opens with optviz --lesson NAME."
                                   " --check runs each lesson's claim headless and prints the measured numbers.")
    p.add_argument("--check", action="store_true", help="measure the claims (all lessons, or those named)")
    p.add_argument("names", nargs="*", metavar="NAME", help="lessons to show, or to check with --check (default: all)")


def run(args: argparse.Namespace, *, out: TextIO | None = None,
        measure: Callable[[Lesson], Claim] | None = None) -> int:
    out = out or sys.stdout
    chosen = [get_lesson(n) for n in args.names] if args.names else list(lessons().values())
    if not args.check:
        if args.names:
            _describe(chosen, out)
        else:
            _list(chosen, out)
        return 0
    return check(chosen, out, measure or (lambda lesson: lesson.claim()))


def _list(items: Iterable[Lesson], out: TextIO) -> None:
    width = max(len(lesson.name) for lesson in lessons().values())
    for lesson in items:
        print(f"{lesson.number:3}  {lesson.name:{width}}  {lesson.tab:10}  {lesson.title}", file=out)
    print("\noptviz --lesson NAME opens the app on a lesson; optviz lessons NAME shows its text; "
          "optviz lessons --check [NAME …] measures the claims.", file=out)


def _describe(items: Iterable[Lesson], out: TextIO) -> None:
    for lesson in items:
        print(f"{lesson.number}. {lesson.title}  ({lesson.name}, {lesson.tab})\n\n{lesson.explanation}\n", file=out)
        print("What to look for:", file=out)
        for line in lesson.look_for:
            print(f"  • {line}", file=out)
        print("Try next:", file=out)
        for edit in lesson.try_next:
            print(f"  • {edit.label} — {edit.expect}", file=out)
        print(file=out)


def check(items: list[Lesson], out: TextIO, measure: Callable[[Lesson], Claim]) -> int:
    """Measure each lesson's claim, print PASS/FAIL with the numbers; 0 when all pass, else 1."""
    t0 = time.perf_counter()
    passed = 0
    for lesson in items:
        claim = measure(lesson)
        passed += claim.passed
        seeds = f", seeds {', '.join(map(str, lesson.seeds))}" if lesson.seeds else ""
        print(f"{'PASS' if claim.passed else 'FAIL'}  {lesson.name} — {lesson.title} ({claim.seconds:.1f} s{seeds})",
              file=out)
        for label, value in claim.numbers:
            print(f"        {label}: {value}", file=out)
        for statement, ok in claim.checks:
            print(f"      {'✓' if ok else '✗'} {statement}", file=out)
        out.flush()
    print(f"{passed} of {len(items)} lessons passed in {time.perf_counter() - t0:.1f} s", file=out)
    return 0 if passed == len(items) else 1
