"""One router per resource; `api.app` includes them under their prefixes."""
