// chatbot build bundles an imported .html file as its text (esbuild's "text" loader).
declare module "*.html" {
  const text: string;
  export default text;
}
