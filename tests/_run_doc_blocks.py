"""Run the Python blocks of documentation pages in this fresh interpreter.

``python _run_doc_blocks.py PAGES.json RESULTS.json``: ``PAGES.json`` maps a
page name to its list of code blocks; each page runs in its own namespace, its
blocks in order. ``RESULTS.json`` maps each page to ``None`` or the error of
the first block that failed. One process for all pages keeps the rest of the
test session free of their global state (loaded models, freed memory) while the
pages still share one embedding cache.
"""

import json
import sys
import traceback


def main(pages_path, results_path):
    with open(pages_path, encoding="utf-8") as fh:
        pages = json.load(fh)
    results = {}
    for page, blocks in pages.items():
        namespace = {"__name__": "__docs__"}
        results[page] = None
        for i, code in enumerate(blocks):
            try:
                exec(compile(code, f"{page}[python block {i + 1}]", "exec"), namespace)
            except BaseException:  # report, then go on with the next page
                results[page] = f"python block {i + 1}:\n{traceback.format_exc()[-4000:]}"
                break
        with open(results_path, "w", encoding="utf-8") as fh:
            json.dump(results, fh)


if __name__ == "__main__":
    main(*sys.argv[1:3])
