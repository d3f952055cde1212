/* The module's version, as shown in status outputs ("version"). */
#ifndef md_version_h
#define md_version_h

#define MD_VERSION  "0.1.0"

#endif /* md_version_h */
