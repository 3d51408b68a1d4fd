#ifndef MB_manifest_H
#define MB_manifest_H
#endif
