export const registers: { slug: string; titleKey: string }[] = [];
