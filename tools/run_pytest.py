"""Run pytest on tests/ and end with one plain summary line, `N passed, N failed[, N skipped]`.

`--notebooks K` adds K passed notebooks (tools/run_nbtests.py ran them just before). `-rs` lists why tests were skipped.
pytest's exit code 5 ("no tests collected") counts as a failure: a test run that runs nothing proves nothing.
"""
import argparse, subprocess, sys, tempfile, xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser(); ap.add_argument('--notebooks', type=int, default=0)
a, rest = ap.parse_known_args()
with tempfile.TemporaryDirectory() as tmp:
    xml = Path(tmp) / 'junit.xml'
    rc = subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-q', '-rs', f'--junitxml={xml}', *rest], cwd=ROOT).returncode
    counts = dict(tests=0, failures=0, errors=0, skipped=0)
    if xml.exists():
        for suite in ET.parse(xml).getroot().iter('testsuite'):
            for k in counts: counts[k] += int(suite.get(k, 0))
failed = counts['failures'] + counts['errors']
passed = counts['tests'] - failed - counts['skipped']
if rc == 5: print('run_pytest: pytest collected no tests'); rc = 1
if a.notebooks: print(f'notebooks: {a.notebooks} passed, 0 failed')
print(f"pytest: {passed} passed, {failed} failed, {counts['skipped']} skipped")
print(f"{passed + a.notebooks} passed, {failed} failed, {counts['skipped']} skipped")
sys.exit(rc)
