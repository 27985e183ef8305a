/*
 * Preloaded under pcsc-lite 1.9.9's spy: the spy reads SCardTransmit's pioRecvPci, which
 * PC/SC allows a client to pass as NULL (yubico-piv-tool and the Rust `pcsc` crate do), and
 * crashes on it (LudovicRousseau/PCSC#159). This hands the next SCardTransmit one to fill.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <winscard.h>

typedef LONG (*transmit_fn)(SCARDHANDLE, const SCARD_IO_REQUEST *, LPCBYTE, DWORD,
                            SCARD_IO_REQUEST *, LPBYTE, LPDWORD);

LONG SCardTransmit(SCARDHANDLE card, const SCARD_IO_REQUEST *send_pci, LPCBYTE send,
                   DWORD send_length, SCARD_IO_REQUEST *recv_pci, LPBYTE recv,
                   LPDWORD recv_length)
{
    transmit_fn next = (transmit_fn)dlsym(RTLD_NEXT, "SCardTransmit");
    SCARD_IO_REQUEST unused = { 0, sizeof unused };
    if (next == NULL)
        return SCARD_F_INTERNAL_ERROR;
    return next(card, send_pci, send, send_length, recv_pci ? recv_pci : &unused, recv,
                recv_length);
}
