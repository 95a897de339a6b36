#!/bin/sh
# SPDX-License-Identifier: MIT
# manpages.sh BERTH OUTDIR: berth.1, berth-serve.1 and berth-provision.1 from
# the --help of the berth binary BERTH (help2man).
set -eu
bin=$(realpath "$1")
out=$2
mkdir -p "$out"
version=$("$bin" --version | sed -n '1s/^berth //p')

# help2man names a page after the program it runs: one wrapper per subcommand.
page() { # NAME SUBCOMMAND DESCRIPTION
	wrapper=$out/$1
	printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$2" >"$wrapper"
	chmod +x "$wrapper"
	help2man --no-info --no-discard-stderr --version-string="$version" \
		--section=1 --source="berth $version" --manual="berth manual" \
		--name="$3" --include=debian/manpages.h2m --output="$out/$1.1" "$wrapper"
	rm -f "$wrapper"
}
page berth "" "DNS server that makes Docker containers findable by name"
page berth-serve serve "answer DNS for Docker containers, hosts files and record files"
page berth-provision provision "run the Docker containers that DNS TXT records list"
page berth-health health "ask a running berth whether it is healthy"
