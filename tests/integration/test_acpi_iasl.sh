#!/usr/bin/env bash
# Every ACPI table vmm builds (microvm, q35, nvdimm machines) must pass
# Debian's ACPICA tools:
#  - `iasl -d` disassembles each table without an error or a warning;
#  - the RSDP (which iasl cannot disassemble: "RSD PTR " is not a table
#    signature) is rebuilt from its fields as an iasl data table, compiled,
#    and must come out byte-identical, checksums included;
#  - acpiexec loads the nvdimm machine's tables, and its ACPI0012 _DSM
#    function 0 and the label methods (_LSI/_LSR/_LSW) return what ACPI 6.4
#    §9.1.1 / §6.5.10 say.
# The tables come from the unit test binary's dump mode (ACPI_DUMP_DIR).
set -u
: "${BUILD:?}"
for tool in iasl acpiexec; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (acpica-tools)"; exit 77; }
done
dumper="$BUILD/tests/test_acpi_tables"
[ -x "$dumper" ] || { echo "FAIL: $dumper not built"; exit 1; }
dir="$BUILD/acpi-dump"
rm -rf "$dir" && mkdir -p "$dir"
ACPI_DUMP_DIR="$dir" timeout 60 "$dumper" || { echo "FAIL: table dump"; exit 1; }

fail=0
n=0
for f in "$dir"/*.dat; do
	case "$f" in *-RSDP.dat) continue ;; esac
	out=$(cd "$dir" && timeout 60 iasl -d "$(basename "$f")" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || grep -qiE 'warning|error' <<<"$out" ||
	   [ ! -s "${f%.dat}.dsl" ]; then
		echo "FAIL: iasl -d $(basename "$f") (exit $rc)"; echo "$out"; fail=1
	else
		n=$((n + 1))
	fi
	# The disassembly itself must not carry ACPICA's inline complaints.
	if grep -E '\*\*\*\*|\bError\b|\bWarning\b|Invalid' "${f%.dat}.dsl" 2>/dev/null; then
		echo "FAIL: $(basename "$f"): disassembly flags a problem"; fail=1
	fi
done
[ $n -ge 20 ] || { echo "FAIL: only $n tables disassembled"; fail=1; }
echo "iasl -d: $n tables clean"

# RSDP: rebuild as an iasl data table and compare bytes.
for f in "$dir"/*-RSDP.dat; do
	hex() { od -An -tx1 -j "$1" -N "$2" "$f" | tr -d ' \n'; }
	le() { # little-endian field -> big-endian hex as iasl writes it
		od -An -tx1 -j "$1" -N "$2" "$f" | tr -s ' ' '\n' | grep . | tac | tr -d '\n'
	}
	sig=$(dd if="$f" bs=1 count=8 2>/dev/null)
	oem=$(dd if="$f" bs=1 skip=9 count=6 2>/dev/null)
	asl="${f%.dat}.asl"
	cat >"$asl" <<ASL
[0008]                          Signature : "$sig"
[0001]                           Checksum : 00
[0006]                             Oem ID : "$oem"
[0001]                           Revision : $(hex 15 1)
[0004]                       RSDT Address : $(le 16 4)
[0004]                             Length : $(le 20 4)
[0008]                       XSDT Address : $(le 24 8)
[0001]                  Extended Checksum : 00
[0003]                           Reserved : 000000
ASL
	out=$(cd "$dir" && timeout 60 iasl -p "${f%.dat}-rebuilt" "$asl" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q ' 0 Errors, 0 Warnings' <<<"$out"; then
		echo "FAIL: iasl could not compile the RSDP fields of $(basename "$f")"; echo "$out"; fail=1
	elif ! cmp -s "$f" "${f%.dat}-rebuilt.aml"; then
		echo "FAIL: $(basename "$f") differs from iasl's RSDP (checksums?)"
		cmp -l "$f" "${f%.dat}-rebuilt.aml" | head; fail=1
	else
		echo "RSDP $(basename "$f"): identical to iasl's, checksums right"
	fi
done

# acpiexec: load the nvdimm machine and run its methods.
cd "$dir" || exit 1
tables=(nvdimm-DSDT.dat nvdimm-FACP.dat nvdimm-APIC.dat nvdimm-NFIT.dat)
root_uuid='(a4 e7 10 2f 91 9e e4 11 89 d3 12 3b 93 f7 5c ba)'
dimm_uuid='(30 ac 09 43 11 0d e4 11 91 91 08 00 20 0c 9a 66)'
L='\_SB.NVDR.NV01'
# ev "COMMANDS" REGEX WHAT: run acpiexec, the output must match REGEX.
ev() {
	local out
	out=$(timeout 60 acpiexec -b "$1" "${tables[@]}" 2>&1)
	echo "$out" >>acpiexec.log
	if ! grep -qE "$2" <<<"$out"; then echo "FAIL: acpiexec: $3"; echo "$out" | tail -8; fail=1; fi
	if grep -E 'ACPI Error|AE_AML' <<<"$out" >/dev/null && [ "${4:-}" != may-fail ]; then
		echo "FAIL: acpiexec: AML error in: $1"; grep -E 'ACPI Error|AE_AML' <<<"$out"; fail=1
	fi
}
: >acpiexec.log
int() { printf 'Integer\\] = %016X' "$1"; }
ev "evaluate \\_SB.NVDR._DSM $root_uuid 1 0 0" 'Buffer\] Length 01 = +0000: 00 ' \
	"root _DSM function 0 must return Buffer{0} (no functions)"
ev "evaluate \\_SB.NVDR._DSM $dimm_uuid 1 0 0" 'Buffer\] Length 01 = +0000: 00 ' \
	"root _DSM with a foreign UUID must return Buffer{0}"
ev "evaluate \\_SB.NVDR.NV00._DSM $dimm_uuid 1 0 0" 'Buffer\] Length 01 = +0000: 00 ' \
	"DIMM _DSM function 0 must return Buffer{0}"
ev "evaluate $L._LSI" "$(int 0x20000)" "_LSI must report the 128 KiB label area"
ev "evaluate $L._LSW 0x10 4 (de ad be ef);evaluate $L._LSR 0xe 8" \
	'00 00 DE AD BE EF 00 00' "_LSR must read back what _LSW wrote"
ev "evaluate $L._LSW 0x1fffc 4 (01 02 03 04);evaluate $L._LSR 0x1fffc 4" \
	'01 02 03 04' "a write at the very end of the label area must land"
ev "evaluate $L._LSR 0x1fffe 8" "$(int 1)" "_LSR past the label area must fail"
ev "evaluate $L._LSR 0xffffffffffffffff 2" "$(int 1)" "_LSR with a huge offset must fail"
ev "evaluate $L._LSR 0 0x1001" "$(int 1)" "_LSR above the max transfer must fail"
ev "evaluate $L._LSW 0x1fffe 4 (01 02 03 04)" "$(int 1)" "_LSW past the end must fail"
ev "evaluate $L._LSW 0 8 (01 02)" "$(int 1)" "_LSW with a short buffer must fail"
ev "evaluate \\_SB.NVDR.NV00._LSI" 'AE_NOT_FOUND' "nv0 has no label-size: no _LSI" may-fail
# The other machines' namespaces load and their objects evaluate.
tables=(q35-DSDT.dat q35-FACP.dat q35-APIC.dat q35-MCFG.dat)
ev "evaluate \\_SB.PCI0._PRT" 'Package\] Contains 128 Elements' "q35 _PRT must route 32 slots x 4 pins"
ev "evaluate \\_SB.PCI0._CRS" 'Buffer\] Length 86 ' "q35 host bridge _CRS"
ev "evaluate \\_SB.MRES._HID" 'Integer\] = 00000000020CD041' "ECAM reserved by a PNP0C02 device"
tables=(microvm-DSDT.dat microvm-FACP.dat microvm-APIC.dat)
ev "evaluate \\_SB.VR01._HID" 'String\] Length 08 = "LNRO0005"' "virtio-mmio devices are LNRO0005"
ev "evaluate \\_SB.VR00._CRS" 'Buffer\] Length 17 ' "virtio-mmio _CRS: Memory32Fixed + Interrupt + EndTag"
ev "evaluate \\_S5" 'Package\] Contains 4 Elements' "\\_S5 for soft-off"
# vCPU hot-plug (devices/acpi/dsdt_cpu.c): the methods run against
# acpiexec's simulated I/O (every register reads 0: no CPU enabled, no
# event), so each must complete without an AML error and CSCN's scan
# loop must end.
tables=(cpuhp-q35-DSDT.dat cpuhp-q35-FACP.dat cpuhp-q35-APIC.dat cpuhp-q35-MCFG.dat)
ev "evaluate \\_SB.CPUS.C003._HID" 'String\] Length 08 = "ACPI0007"' "hot-pluggable CPUs are ACPI0007 devices"
ev "evaluate \\_SB.CPUS.C003._STA" "$(int 0)" "_STA of a CPU the register block says is absent"
ev "evaluate \\_SB.CPUS.C002._MAT" 'Buffer\] Length 08 = +0000: 00 08 02 02 01 00 00 00' "_MAT: its enabled Local APIC entry"
ev "evaluate \\_SB.CPUS.CSCN" "No object was returned from evaluation of ._SB.CPUS.CSCN" "CSCN scans and ends"
ev "evaluate \\_SB.CPUS.C003._EJ0 0" "from evaluation of ._SB.CPUS.C003._EJ0" "_EJ0 runs"
ev "evaluate \\_SB.CPUS.C003._OST 0x103 0 (00)" "from evaluation of ._SB.CPUS.C003._OST" "_OST runs"
ev "evaluate \\_GPE._E02" "from evaluation of ._GPE._E02" "GPE 2 runs CSCN"
tables=(cpuhp-microvm-DSDT.dat cpuhp-microvm-FACP.dat cpuhp-microvm-APIC.dat)
ev "evaluate \\_SB.GED._EVT 8" "from evaluation of ._SB.GED._EVT" "the GED's CPU hot-plug event runs CSCN"
[ $fail -eq 0 ] && echo "acpiexec: _DSM, label methods, _PRT, _CRS, _S5 and the CPU hot-plug methods behave"
exit $fail
