# Guest payload rules, one fragment per payload (testguest.mk, linux.mk...).
-include $(wildcard guest-images/*.mk.inc)
