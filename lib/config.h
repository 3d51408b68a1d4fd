#ifndef MB_config_H
#define MB_config_H
#endif
