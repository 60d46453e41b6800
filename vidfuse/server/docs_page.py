"""``/docs``: the OpenAPI schema as one self-contained HTML page, readable without internet (FastAPI's
Swagger UI, at ``/docs/swagger``, loads its script from a CDN)."""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
section{border:1px solid #dde2ea;border-radius:10px;padding:.2rem 1rem;margin:.8rem 0}
.m{display:inline-block;min-width:4.5rem;text-align:center;border-radius:6px;color:#fff;font-size:.8rem;\
padding:.1rem .4rem}
.get{background:#2f7de1}.post{background:#1f9d62}.delete{background:#d2453c}.d{color:#5b6475}
pre{background:#f4f6fa;padding:.8rem;border-radius:8px;overflow:auto;font-size:.8rem}"""


def offline_docs(spec: dict[str, Any]) -> str:
    """The OpenAPI schema as one self-contained HTML page (no scripts, nothing fetched)."""
    esc = html.escape
    rows = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            params = "".join(
                f"<li><code>{esc(p['name'])}</code> ({esc(p['in'])}{', required' if p.get('required') else ''})"
                f"{': ' + esc(p.get('description', '')) if p.get('description') else ''}</li>"
                for p in op.get("parameters", [])
            )
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ref = esc(body["$ref"].split("/")[-1]) if "$ref" in body else ""
            body_html = f"<p>JSON body: <a href='#{ref}'>{ref}</a></p>" if "$ref" in body else ""
            codes = ", ".join(esc(c) for c in op.get("responses", {}))
            rows.append(
                f"<section><h3><span class='m {esc(method)}'>{esc(method.upper())}</span> "
                f"<code>{esc(path)}</code></h3>"
                f"<p>{esc(op.get('summary', ''))}</p><p class='d'>{esc(op.get('description', ''))}</p>"
                f"{'<ul>' + params + '</ul>' if params else ''}{body_html}"
                f"<p class='d'>Responses: {codes}</p></section>"
            )
    schemas = "".join(
        f"<h3 id='{esc(name)}'>{esc(name)}</h3><pre>{esc(json.dumps(s, indent=2))}</pre>"
        for name, s in spec.get("components", {}).get("schemas", {}).items()
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>vidfuse API</title>
<style>{_STYLE}</style></head><body>
<h1>{esc(spec.get("info", {}).get("title", "API"))} {esc(spec.get("info", {}).get("version", ""))}</h1>
<p>{esc(spec.get("info", {}).get("description", ""))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Interactive Swagger UI (loads from a CDN, needs
internet): <a href="/docs/swagger">/docs/swagger</a>. With a token, send <code>Authorization: Bearer TOKEN</code>.</p>
<h2>Endpoints</h2>{"".join(rows)}<h2>Schemas</h2>{schemas}</body></html>"""
