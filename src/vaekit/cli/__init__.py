"""The `vaekit` command line: `main.py` (the parser and dispatch), one
module per command, and `common.py` (what they share). Each command parses
its arguments, makes one library call and writes its output; only this
package prints to people and names flags."""
