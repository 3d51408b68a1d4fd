#ifndef MB_cli_H
#define MB_cli_H
#endif
