// Device-tree sources shared by the DT tests: each exercises a part of the format.

/** An arm64 virt-like tree with a conforming ramoops node (QEMU's root uses 2/2 cells). */
export const VIRT_RAMOOPS = `/dts-v1/;
/memreserve/ 0x48000000 0x100000;
/ {
	interrupt-parent = <&gic>;
	#size-cells = <0x02>;
	#address-cells = <0x02>;
	compatible = "linux,dummy-virt";

	memory@40000000 {
		reg = <0x00 0x40000000 0x00 0x20000000>;
		device_type = "memory";
	};

	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;

		ramoops: ramoops@50000000 {
			compatible = "ramoops";
			reg = <0x0 0x50000000 0x0 0x100000>; /* 1 MiB */
			record-size = <0x4000>;
			console-size = <0x10000>;
			ftrace-size = <0x8000>;
			pmsg-size = <0x4000>;
			ecc-size = <16>;
			mem-type = <2>;
			max-reason = <4>;
			flags = <1>;
			no-map;
		};
	};

	gic: intc@8000000 {
		compatible = "arm,cortex-a15-gic";
		#interrupt-cells = <3>;
		interrupt-controller;
		reg = <0x0 0x8000000 0x0 0x10000>, <0x0 0x8010000 0x0 0x10000>;
	};

	chosen {
		bootargs = "console=ttyAMA0 panic=-1";
		stdout-path = &ramoops;
		linux,initrd-start = /bits/ 64 <0x48000000>;
		pstore = <&ramoops>;
	};
};
`;

/** Every value form and syntax corner the parser claims: must compile with dtc to the same bytes. */
export const SYNTAX_TOUR = `/dts-v1/;
/memreserve/ 0x1000 0x2000;
/memreserve/ (0x10 << 24) 0x100000;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	model = "tour", "second string", "esc\\t\\"q\\"\\x41\\101";
	empty;
	bytes = [00 11 22 aa BB] , [ccdd];
	mixed = "s", <1 2>, [ff];
	exprs = <(1 + 2 * 3) (0x10 >> 2) (~0 & 0xff) (-1) ((5 > 3) ? 7 : 9) (10 % 4) (1 << 31) ('A') (!0) (3 - 5)>;
	chars = <'a' '\\n' '\\x20'>;
	octal = <017 0 0x0>;
	b8 = /bits/ 8 <1 2 0xff>;
	b16 = /bits/ 16 <0x1234 5>;
	b64 = /bits/ 64 <0x123456789abcdef0 1>;
	size-cells = <7>;
	cells = <8>;
	a: node@1 {
		reg = <1 2>;
		gone = <1>;
		l1: l2: child { x = <1>; };
		to-delete { y; };
	};
	ref-holder {
		ph = <&a &{/node@1/child} &a>;
		path = &l2;
		path2 = &{/node@1};
	};
	explicit {
		phandle = <1>;
	};
};
/ {
	model = "redefined in place";
	late = "added";
	node@1 {
		z = <3>;
		/delete-property/ gone;
		/delete-node/ to-delete;
	};
};
&l1 {
	x = <2>;
	extra;
};
`;

/** A node straight under the root, as old Chromebooks had it (ramoops_parse_dt's special case). */
export const CHROMEBOOK = `/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	ramoops@3f000000 {
		compatible = "ramoops";
		reg = <0x3f000000 0x100000>;
		record-size = <0x20000>;
	};
};
`;
