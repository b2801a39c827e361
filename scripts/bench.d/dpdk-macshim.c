/*
 * LD_PRELOAD shim for the benchmarks: lets DPDK's net_bonding run over net_af_xdp members.
 *
 * net_bonding gives every member the bond's MAC (and, in mode 4, may add the Slow Protocols
 * multicast address). net_af_xdp has no operation for either, so ethdev answers -ENOTSUP and
 * the bond refuses to start. On veth under AF_XDP the MAC does not matter: the XDP program
 * takes every frame of the queue whatever its destination. This shim wraps the two ethdev
 * calls and turns -ENOTSUP (only that) into success, counting how often it did so.
 *
 * Build: gcc -shared -fPIC -O2 $(pkg-config --cflags libdpdk) -o macshim.so dpdk-macshim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ethdev.h>

typedef int (*mac_fn_set)(uint16_t, struct rte_ether_addr *);
typedef int (*mac_fn_add)(uint16_t, struct rte_ether_addr *, uint32_t);

static unsigned long forgiven;

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f == NULL) {
		fprintf(stderr, "macshim: %s not found after this library\n", name);
		abort();
	}
	return f;
}

static void note(const char *what, uint16_t port)
{
	forgiven++;
	fprintf(stderr, "macshim: %s on port %u: -ENOTSUP taken as success (%lu so far)\n",
		what, (unsigned)port, forgiven);
}

int rte_eth_dev_default_mac_addr_set(uint16_t port_id, struct rte_ether_addr *addr)
{
	static mac_fn_set next;
	if (next == NULL)
		next = (mac_fn_set)real("rte_eth_dev_default_mac_addr_set");
	int rc = next(port_id, addr);
	if (rc == -ENOTSUP) {
		note("default MAC set", port_id);
		return 0;
	}
	return rc;
}

int rte_eth_dev_mac_addr_add(uint16_t port_id, struct rte_ether_addr *addr, uint32_t pool)
{
	static mac_fn_add next;
	if (next == NULL)
		next = (mac_fn_add)real("rte_eth_dev_mac_addr_add");
	int rc = next(port_id, addr, pool);
	if (rc == -ENOTSUP) {
		note("MAC address add", port_id);
		return 0;
	}
	return rc;
}
