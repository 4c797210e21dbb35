"""Migration scripts, oldest first; each is frozen once released (never import models here)."""
