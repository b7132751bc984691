#!/bin/sh
# The protocol libraries are sans-I/O: none of their files may include an Asio header (STYLE.md 1).
lib=${1:?usage: check_no_asio.sh LIBDIR}
found=0
for d in util config dns smtp pop3 mime store queue; do
  [ -d "$lib/$d" ] || continue
  if grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]asio' "$lib/$d"; then found=1; fi
done
if [ "$found" -ne 0 ]; then
  echo "FAIL: a protocol library includes Asio (listed above)"
  exit 1
fi
echo "ok: no Asio include under $lib/{util,config,dns,smtp,pop3,mime,store,queue}"
