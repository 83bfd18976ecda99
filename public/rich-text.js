// Trix additions (pasted images, canned replies, mentions) arrive here.
