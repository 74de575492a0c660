/* placeholder */ typedef int ferry_placeholder_t;
