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
