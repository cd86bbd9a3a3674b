#!/usr/bin/env bash
# fakebill adapter (protocol 1) around a small Bill.com v2 client written in
# bash and curl, for scripts that talk to the API from a shell.
#
#   fakebill conform -- bash examples/adapters/shell/adapter.sh
#
# The client logs in once and reuses the session; on BDC_1109 it logs in
# again and replays the call once; other errors surface as they are.
# Credentials never appear in a command line (ps shows those): form bodies
# reach curl on its stdin. JSON is cut into tokens by sed and walked in
# bash, so jq is not needed. Requests are handled one at a time
# ("concurrent": false).
# Log lines go to stderr and are redacted first.
#
# Needs bash 4.3 or later, curl, od, and a sed that accepts \n in a
# replacement (GNU or busybox).
#
# BUG(fakebill): macOS's stock bash 3.2 and BSD sed cannot run it; install
# a newer bash and GNU sed there.

set -u
export LC_ALL=C

base=${FAKEBILL_URL%/}
user=${FAKEBILL_USER_NAME}
pass=${FAKEBILL_PASSWORD}
org=${FAKEBILL_ORG_ID}
devkey=${FAKEBILL_DEV_KEY}
session=""
seen=() # every session id this client held, for redaction

errfile=$(mktemp) || exit 1
trap 'rm -f "$errfile"' EXIT

# urlencode S: REPLY is S percent-encoded for a form body. Long values
# (a call's data) go through od, since a bash loop over them is quadratic;
# every byte is then encoded, which decodes the same.
urlencode() {
	local s=$1 out="" c i
	if ((${#s} > 256)); then
		REPLY=$(printf '%s' "$s" | od -An -v -tx1 | tr -d ' \n' | sed 's/../%&/g')
		return
	fi
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9.~_-]) out+=$c ;;
		*)
			printf -v c '%%%02X' "'$c"
			out+=${c:0:3}
			;;
		esac
	done
	REPLY=$out
}

# json_escape S: REPLY is S as the inside of a JSON string.
json_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//[$'\001'-$'\037']/ }
	REPLY=$s
}

# redact S: REPLY is S with every credential and session id replaced, in
# raw, URL-encoded and JSON-escaped forms.
redact() {
	local s=$1 v name pair
	local -a pairs=("userName=$user" "password=$pass" "devKey=$devkey")
	for v in "${seen[@]+"${seen[@]}"}"; do pairs+=("sessionId=$v"); done
	for pair in "${pairs[@]}"; do
		name=${pair%%=*} v=${pair#*=}
		[[ -n $v ]] || continue
		s=${s//"$v"/"[REDACTED:$name]"}
		urlencode "$v"
		s=${s//"$REPLY"/"[REDACTED:$name]"}
		json_escape "$v"
		s=${s//"$REPLY"/"[REDACTED:$name]"}
	done
	REPLY=$s
}

log() {
	redact "$1"
	printf 'billclient.sh: %s\n' "$REPLY" >&2
}

# json_members JSON: fill the associative array M with the raw JSON text
# of each top-level member of the object JSON; return 1 if JSON is not an
# object. Escaped quotes and backslashes are set aside first, so that sed
# can cut the text into tokens (strings whole, one structural character
# each) in one linear pass; the tokens are then walked once, keeping depth.
declare -A M
json_members() {
	local s=$1 tok depth=0 key="" state=start value=""
	local -a toks
	M=()
	s=${s//\\\\/$'\001'}
	s=${s//\\\"/$'\002'}
	mapfile -t toks < <(printf '%s\n' "$s" | sed -E 's/("[^"]*"|[][{}:,])/\n&\n/g')
	for tok in "${toks[@]}"; do
		[[ -n ${tok//[[:space:]]/} ]] || { [[ $state == value ]] && value+=$tok; continue; }
		case $state in
		start)
			[[ $tok == '{' ]] || return 1
			depth=1 state=key
			;;
		key)
			[[ $tok == '}' ]] && return 0
			[[ $tok == \"*\" ]] || return 1
			key=${tok:1:${#tok}-2} state=colon
			;;
		colon)
			[[ $tok == : ]] || return 1
			state=value value=""
			;;
		value)
			if ((depth == 1)) && [[ $tok == , || $tok == '}' ]]; then
				value=${value#"${value%%[![:space:]]*}"}
				value=${value%"${value##*[![:space:]]}"}
				value=${value//$'\001'/\\\\}
				M[$key]=${value//$'\002'/\\\"}
				[[ $tok == , ]] && state=key || return 0
				continue
			fi
			case $tok in
			'{' | '[') ((depth++)) ;;
			'}' | ']') ((depth--)) ;;
			esac
			value+=$tok
			;;
		esac
	done
	return 1
}

# json_string RAW: REPLY is the JSON string literal RAW without its quotes
# and with the common escapes undone; returns 1 if RAW is not a string.
json_string() {
	local s=$1
	[[ $s == \"*\" ]] || return 1
	s=${s:1:${#s}-2}
	s=${s//\\\\/$'\001'}
	s=${s//\\\//\/}
	s=${s//\\\"/\"}
	REPLY=${s//$'\001'/\\}
}

# Error of the last failed request: code, kind, and message, each ready to
# go inside a JSON string.
err_code="" err_kind="" err_msg=""

# fail CODE KIND MESSAGE: record a failure; MESSAGE is already JSON-escaped.
fail() {
	json_escape "$1"
	err_code=$REPLY err_kind=$2
	redact "$3"
	err_msg=$REPLY
}

kind_of() {
	case $1 in
	BDC_1101 | BDC_1102 | BDC_1103 | BDC_1178) REPLY=auth ;;
	BDC_1109) REPLY=session ;;
	BDC_1144 | BDC_1322) REPLY=rate_limit ;;
	BDC_*) REPLY=api ;;
	*) REPLY=other ;;
	esac
}

# post PATH FORM: POST the form to PATH. On success DATA holds the raw
# response_data; otherwise err_* describe the failure and it returns 1.
post() {
	local path=$1 out status body raw code msg
	if ! out=$(printf '%s' "$2" | curl -sS --max-time 30 --proto =http,https \
		-H 'Content-Type: application/x-www-form-urlencoded' \
		-H 'Accept: application/json' --data-binary @- \
		-w '\n%{http_code}' "$base/$path" 2>"$errfile"); then
		json_escape "$path: no answer: $(<"$errfile")"
		fail "" transport "$REPLY"
		return 1
	fi
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	body=${body//[$'\r\n']/ } # JSON strings hold no raw newlines
	if ! json_members "$body" || [[ ! -v M[response_status] ]]; then
		json_escape "$path: HTTP $status without an API answer"
		fail "" transport "$REPLY"
		return 1
	fi
	if [[ ${M[response_status]} == 0 ]]; then
		DATA=${M[response_data]-null}
		return 0
	fi
	code="" msg=""
	if json_members "${M[response_data]-}"; then
		json_string "${M[error_code]-}" && code=$REPLY
		raw=${M[error_message]-}
		[[ $raw == \"*\" ]] && msg=${raw:1:${#raw}-2}
	fi
	kind_of "$code"
	fail "$code" "$REPLY" "$msg"
	return 1
}

login() {
	local form
	urlencode "$user"
	form="userName=$REPLY"
	urlencode "$pass"
	form+="&password=$REPLY"
	urlencode "$org"
	form+="&orgId=$REPLY"
	urlencode "$devkey"
	form+="&devKey=$REPLY"
	post Login.json "$form" || return 1
	if ! json_members "$DATA" || ! json_string "${M[sessionId]-}" || [[ -z $REPLY ]]; then
		fail "" auth "Login.json: answer has no sessionId"
		return 1
	fi
	session=$REPLY
	seen+=("$session")
	log "logged in"
}

# api_call PATH DATA: call PATH with the raw JSON DATA ("" for none). At
# most one re-login and one replay: looping on BDC_1109 would hammer the
# login endpoint.
api_call() {
	local path=$1 data=$2 form attempt
	urlencode "$devkey"
	form="devKey=$REPLY"
	if [[ -n $data && $data != null ]]; then
		urlencode "$data"
		form+="&data=$REPLY"
	fi
	[[ -n $session ]] || login || return 1
	for attempt in 0 1; do
		urlencode "$session"
		post "$path" "$form&sessionId=$REPLY" && return 0
		[[ $err_code == BDC_1109 ]] || return 1
		session=""
		((attempt == 0)) || return 1
		log "$path: session invalid ($err_code); logging in again"
		login || return 1
	done
}

logout() {
	[[ -n $session ]] || return 0
	local form
	urlencode "$devkey"
	form="devKey=$REPLY"
	urlencode "$session"
	form+="&sessionId=$REPLY"
	session=""
	if post Logout.json "$form"; then
		log "logged out"
	else
		log "logout: $err_code $err_msg"
	fi
}

# The protocol loop.
while IFS= read -r line || [[ -n $line ]]; do
	[[ -n ${line//[[:space:]]/} ]] || continue
	op="" path="" data=""
	json_members "$line" || M=()
	id=${M[id]-null}
	json_string "${M[op]-}" && op=$REPLY
	case $op in
	hello)
		if [[ ${M[protocol]-} == 1 ]]; then
			printf '{"id":%s,"ok":true,"protocol":1,"api":"v2","concurrent":false,"close":true}\n' "$id"
		else
			printf '{"id":%s,"ok":false,"error":{"code":"","kind":"other","message":"unsupported protocol version"}}\n' "$id"
		fi
		;;
	call)
		json_string "${M[path]-}" && path=$REPLY
		data=${M[data]-}
		if api_call "$path" "$data"; then
			printf '{"id":%s,"ok":true,"result":%s}\n' "$id" "$DATA"
		else
			printf '{"id":%s,"ok":false,"error":{"code":"%s","kind":"%s","message":"%s"}}\n' \
				"$id" "$err_code" "$err_kind" "$err_msg"
		fi
		;;
	close)
		logout
		printf '{"id":%s,"ok":true}\n' "$id"
		exit 0
		;;
	*)
		printf '{"id":%s,"ok":false,"error":{"code":"","kind":"other","message":"unknown op"}}\n' "$id"
		;;
	esac
done
logout
