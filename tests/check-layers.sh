#!/bin/bash
# The direction of includes between the folders of user/ (one-way data flow: a module includes only what
# lies below it). Fails naming FILE:LINE for each include that goes the wrong way. Run by `make lint`
# and CI. A new folder must be added to the table; a bare "name.h" is the file's own folder (or build/).
set -u
cd "$(dirname "$0")/.."

# folder -> the folders it may include (besides itself and include/kansoku, the kernel/user wire format)
declare -A MAY=(
	[lib]=""
	[config]="lib"
	[host]="lib config"
	[model]="lib config host"
	[pipeline]="lib config host model"
	[sensors]="lib config host model pipeline"
	[posture]="lib config host model pipeline"
	[rules]=""                          # the engine: pure (YAML, regexes), the CLI and the fuzzer link it alone
	[detect]="lib config host model pipeline rules" # the engine as a pipeline evaluator, its findings
	[outputs]="lib config" # fed by the daemon's sinks: the pipeline does not know them, nor they it
	[daemon]="*"           # wires everything together
	[cli]="lib rules"      # apart: talks to the daemon over its socket; `rules test` runs the engine offline
)

# Known exceptions, "FILE HEADER", each with why; delete a line when its include is gone (a stale one is
# reported). Keep this list short.
EXCEPTIONS=(
)

declare -A used=()
bad=0
while IFS=: read -r file line text; do
	from=${file#user/}
	from=${from%%/*}
	inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
	case $inc in
	../* | */../*)
		echo "$file:$line: include \"$inc\": no relative paths across folders; write \"folder/name.h\""
		bad=1
		continue
		;;
	*/*) to=${inc%%/*} ;;
	*) continue ;; # a bare name: the same folder, or a generated header in build/
	esac
	[ "$to" = kansoku ] || [ "$to" = "$from" ] || [ ! -d "user/$to" ] && continue
	if [ -z "${MAY[$from]+set}" ]; then
		echo "$file:$line: user/$from is not in the table of tests/check-layers.sh: say what it may include"
		bad=1
		continue
	fi
	allowed=" ${MAY[$from]} "
	[[ $allowed == *" * "* || $allowed == *" $to "* ]] && continue
	for ex in "${EXCEPTIONS[@]}"; do
		if [ "$ex" = "$file $inc" ]; then
			used[$ex]=1
			continue 2
		fi
	done
	echo "$file:$line: user/$from includes \"$inc\", but user/$to is not below it" \
		"(user/$from may include: ${MAY[$from]:-nothing but itself})"
	bad=1
done < <(grep -rnE --include='*.[ch]' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' user | sort -t: -k1,1 -k2,2n)

for ex in "${EXCEPTIONS[@]}"; do
	[ -n "${used[$ex]+set}" ] || echo "check-layers: the exception '$ex' is no longer needed: delete it"
done
if [ $bad != 0 ]; then
	echo "check-layers: includes against the direction of user/ (see the table in tests/check-layers.sh)"
	exit 1
fi
echo "check-layers: ok (${#MAY[@]} folders, ${#EXCEPTIONS[@]} known exception(s))"
