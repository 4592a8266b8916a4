#!/usr/bin/env bats
# The head-set syntax every filter shares, through ablate (which names each
# set it runs) and encode --disable (which checks it against the model).
load helper

# sets SPEC: the names of the sets ablate runs for --heads SPEC (tiny-cls
# has 2 layers of 2 heads).
sets() {
	recs -r <<<'{"id": "x", "label": 0, "ids": [2, 12, 3]}' |
	    ablate -m samples/tiny-cls --heads "$1" | recs -k ablation |
	    sed 's/.*:"\(.*\)"}/\1/' | tr '\n' ' '
}

@test "headset: every form of the syntax" {
	[ "$(sets all)" = "base L1H1 L1H2 L2H1 L2H2 " ]
	[ "$(sets 2:1)" = "base L2H1 " ]
	[ "$(sets L2H1)" = "base L2H1 " ]
	[ "$(sets l2h1)" = "base L2H1 " ]
	[ "$(sets '2:*')" = "base L2H1 L2H2 " ]
	[ "$(sets L2)" = "base L2H1 L2H2 " ]
	[ "$(sets '*:2')" = "base L1H2 L2H2 " ]
	[ "$(sets 1-2:2)" = "base L1H2 L2H2 " ]
	[ "$(sets L1-2H1)" = "base L1H1 L2H1 " ]
	[ "$(sets 1:1,L2H2)" = "base L1H1 L2H2 " ]
}

@test "headset: errors name the item and the valid range" {
	run -2 --separate-stderr encode -m samples/tiny-cls --disable 3:1 samples/tiny-cls/dev.mp
	[[ $stderr == *"'3:1': layer 3 is outside 1..2"* ]]
	run -2 --separate-stderr encode -m samples/tiny-cls --disable 1:3 samples/tiny-cls/dev.mp
	[[ $stderr == *"'1:3': head 3 is outside 1..2"* ]]
	run -2 --separate-stderr encode -m samples/tiny-cls --disable 0:1 samples/tiny-cls/dev.mp
	[[ $stderr == *"layer 0 is outside 1..2"* ]]
	for bad in x 1 L H1 1: :1 1:1: 'L1H' 1-:1 '1,,2:1' ',1:1' '1:1,' 2-1:1 ''; do
		run -2 --separate-stderr encode -m samples/tiny-cls --disable "$bad" samples/tiny-cls/dev.mp
		echo "$bad: $stderr"
		[[ $stderr == "encode: --disable: "* ]]
	done
	run -2 --separate-stderr ablate -m samples/tiny-cls --heads 1:5 samples/tiny-cls/dev.mp
	[[ $stderr == *"head 5 is outside 1..2"* ]]
}

# The parser itself, through test/rectest (built here when missing).
rt() {
	[ -x "$TOP/test/rectest" ] || make -s -C "$TOP" test/rectest >&2
	"$TOP/test/rectest" "$@"
}

@test "headset: sets, counts and names for a 12 x 12 model" {
	[ "$(rt heads 12 12 all)" = "144 L1+L2+L3+L4+L5+L6+L7+L8+L9+L10+L11+L12" ]
	[ "$(rt heads 12 12 3:7)" = "1 L3H7" ]
	[ "$(rt heads 12 12 L3H7)" = "1 L3H7" ]
	[ "$(rt heads 12 12 '3:*')" = "12 L3" ]
	[ "$(rt heads 12 12 L3)" = "12 L3" ]
	[ "$(rt heads 12 12 '*:12')" = "12 L1H12+L2H12+L3H12+L4H12+L5H12+L6H12+L7H12+L8H12+L9H12+L10H12+L11H12+L12H12" ]
	[ "$(rt heads 12 12 1-2:3-4)" = "4 L1H3+L1H4+L2H3+L2H4" ]
	[ "$(rt heads 12 12 L11-12H1)" = "2 L11H1+L12H1" ]
	[ "$(rt heads 12 12 L1-2)" = "24 L1+L2" ]
	# overlapping items count once; order does not matter
	[ "$(rt heads 12 12 '2:1,L2H1,1:1,2:1-2')" = "3 L1H1+L2H1+L2H2" ]
	[ "$(rt heads 3 4 '12:12' 2>&1)" = "rectest: '12:12': layer 12 is outside 1..3" ]
}

@test "headset: errors name the item and the valid range (parser)" {
	err() {
		run -2 --separate-stderr rt heads 12 12 "$1"
		echo "$1: $stderr"
		[ "$stderr" = "rectest: $2" ]
	}
	err 13:1 "'13:1': layer 13 is outside 1..12"
	err 0:1 "'0:1': layer 0 is outside 1..12"
	err 1:13 "'1:13': head 13 is outside 1..12"
	err L1H0 "'L1H0': head 0 is outside 1..12"
	err 1:1,1-14:2 "'1-14:2': layer 14 is outside 1..12"
	err 3-1:1 "'3-1:1': a range runs backwards"
	err 'L1,x' "'x': not a head set (all, 3:7, 3:*, *:7, L3H7, L3, 1-3:2)"
	err '1:1,' "'1:1,': empty item in head set"
	err '' "empty head set"
	# the syntax alone, before the model is known
	for ok in all 3:7 L3H7 '3:*' L3 '*:7' 1-3:2 L1-3H2 '1:1,L2' 99:99; do
		rt syntax "$ok"
	done
	for bad in x L 1: :1 1:1: L1H L1H1x '1,,2:1' '1:-2' '-1:1' ' 1:1'; do
		run -2 --separate-stderr rt syntax "$bad"
		echo "$bad: $stderr"
		[[ $stderr == "rectest: '"*"': "* || $stderr == "rectest: empty"* ]]
	done
}
