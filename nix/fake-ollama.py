#!/usr/bin/env python3
"""A stand-in for Ollama in the NixOS VM test: the parts of its HTTP API the appliance uses.

`serve` answers /api/version, /api/tags, /api/show, /api/pull and a streaming /api/chat that
echoes the last user message; `pull MODEL` asks the server at $OLLAMA_HOST to pull, as
`ollama pull` does. Models "pulled" are remembered in memory.
"""
import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = set()


class Handler(BaseHTTPRequestHandler):
    def _json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def do_GET(self):
        if self.path == "/api/version":
            self._json({"version": "0.0.0-fake"})
        elif self.path == "/api/tags":
            self._json({"models": [{"name": m, "model": m, "size": 1} for m in sorted(MODELS)]})
        elif self.path == "/":
            self._json({"status": "Ollama is running"})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self):
        req = self._body()
        if self.path == "/api/pull":
            MODELS.add(req.get("model") or req.get("name") or "")
            self._json({"status": "success"})
        elif self.path == "/api/show":
            self._json({"model_info": {"general.context_length": 32768}, "capabilities": ["completion", "tools"]})
        elif self.path == "/api/chat":
            last = next((m.get("content", "") for m in reversed(req.get("messages", [])) if m.get("role") == "user"), "")
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            for chunk in ({"message": {"role": "assistant", "content": "echo: " + last}, "done": False},
                          {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                           "prompt_eval_count": 1, "eval_count": 1}):
                self.wfile.write((json.dumps(chunk) + "\n").encode())
        else:
            self._json({"error": "not found"}, 404)

    def log_message(self, *args):
        pass


def main(argv):
    if argv[:1] == ["pull"] and len(argv) == 2:
        host = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")
        req = urllib.request.Request(f"{host}/api/pull", data=json.dumps({"model": argv[1], "stream": False}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            print(json.load(resp)["status"])
        return 0
    if argv[:1] in (["serve"], []):
        ThreadingHTTPServer(("0.0.0.0", 11434), Handler).serve_forever()
    print("usage: fake-ollama serve | pull MODEL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
