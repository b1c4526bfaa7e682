#include <cstdio>
int main() { std::puts("edgequant"); return 0; }
