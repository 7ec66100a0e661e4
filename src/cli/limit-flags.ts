// Count flags `warden run` and `warden check` share: the table budget and the
// table and memory counts, each overriding the policy's key of the same name.

export const tableAndMemoryFlags = [['max-table-elements', 'tableElements'], ['max-tables', 'tables'], ['max-memories', 'memories']] as const;
