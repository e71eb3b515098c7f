"""Prints the PTX of one kernel module from the output of
dash-nvvm-pipeline{format=isa}: kernel_ptx.py <file.mlir> <gpu.binary name>."""
import re
import sys

text = open(sys.argv[1]).read()
match = re.search(r'gpu\.binary @%s +\[.*?assembly = "(.*?)"' % re.escape(sys.argv[2]),
                  text, re.S)
if not match:
    sys.exit("no gpu.binary @%s with PTX in %s" % (sys.argv[2], sys.argv[1]))
# MLIR prints non-printable characters of string attributes as \XX.
sys.stdout.write(re.sub(r"\\([0-9A-Fa-f]{2})",
                        lambda m: chr(int(m.group(1), 16)), match.group(1)))
